//! What every answer passes through on its way out and every public request
//! on its way in, before any handler: the security headers
//! ([`headers`]), the browser's cross-origin rule ([`cors`]) and the rate
//! limits of the endpoints anyone can call ([`limits`]).

pub mod cors;
pub mod headers;
pub mod limits;
