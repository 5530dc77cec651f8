//! PHP in the lab: Debian's real `php-fpm8.2` run as the `php8.2-fpm` service, its
//! configuration read from the workspace, and the `php-cgi8.2` pool that stands in for
//! mod_php's prefork children.
//!
//! - [`ini`]: the INI syntax of php.ini, php-fpm.conf and pool.d, with spans.
//! - [`fpm`]: php-fpm's configuration -> typed pools -> the generated file.
//! - [`service`]: the supervised php-fpm master.
//! - [`modphp`]: the pool that plays mod_php under the prefork MPM.

pub mod fpm;
pub mod ini;
pub mod modphp;
pub mod service;
