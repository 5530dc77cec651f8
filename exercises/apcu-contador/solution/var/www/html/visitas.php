<?php
$clave = 'visitas-{{param.clave}}';
echo "visitas=", apcu_inc($clave), "\n";
echo "clave=", $clave, "\n";
echo "entradas=", apcu_cache_info(true)['num_entries'], "\n";
