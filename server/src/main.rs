//! `password-mgmt-server` (the command line follows).

fn main() {}
