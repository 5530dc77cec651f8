<?php
echo "Hola desde PHP " . PHP_MAJOR_VERSION . "." . PHP_MINOR_VERSION . "\n";
// Escribe aquí la línea con tu clave.
