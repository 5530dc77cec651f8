<?php
echo "Hola desde PHP " . PHP_MAJOR_VERSION . "." . PHP_MINOR_VERSION . "\n";
echo "Clave: {{param.clave}}\n";
