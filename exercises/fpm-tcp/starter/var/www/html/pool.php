<?php
echo "LAB_POOL=", getenv("LAB_POOL"), "\n";
echo "SCRIPT_NAME=", $_SERVER["SCRIPT_NAME"], "\n";
echo "PATH_INFO=", $_SERVER["PATH_INFO"] ?? "", "\n";
echo "ORIG_SCRIPT_NAME=", $_SERVER["ORIG_SCRIPT_NAME"] ?? "", "\n";
