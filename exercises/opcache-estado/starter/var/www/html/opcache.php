<?php
// Escribe aquí las tres líneas: activo=, memoria= y cacheado=
