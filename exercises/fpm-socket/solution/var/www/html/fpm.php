<?php
echo php_sapi_name(), "\n";
echo "Pool: {{param.marca}}\n";
