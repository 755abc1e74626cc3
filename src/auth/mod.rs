//! Who is calling: tokens, passwords and the `Actor` every use case receives.

pub mod actor;
pub mod client_addr;
pub mod password;
pub mod tokens;

pub use actor::Actor;
pub use client_addr::ClientAddr;
