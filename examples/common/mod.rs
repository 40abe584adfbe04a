//! Shared by the examples: the embedded demo server and the command-line options.
#![allow(dead_code)]

pub mod blocking;
pub mod cli;
pub mod demo_server;
pub mod options;
pub mod tokio_driver;
pub mod wire_io;
