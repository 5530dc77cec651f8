<?php
// Cuenta aquí las visitas con APCu.
echo "visitas=0\n";
