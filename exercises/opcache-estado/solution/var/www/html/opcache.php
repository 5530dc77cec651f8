<?php
$estado = opcache_get_status(false);
echo "activo=", (int) ($estado['opcache_enabled'] ?? 0), "\n";
echo "memoria=", ini_get('opcache.memory_consumption'), "\n";
echo "cacheado=", (int) opcache_is_script_cached(__FILE__), "\n";
