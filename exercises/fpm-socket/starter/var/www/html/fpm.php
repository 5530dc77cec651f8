<?php
// Escribe aquí php_sapi_name() y la línea del pool.
