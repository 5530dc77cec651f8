//! a2ensite and friends (being written).
