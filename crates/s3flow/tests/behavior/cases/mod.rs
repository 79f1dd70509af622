//! The behavior cases, grouped by area. Each is `pub async fn(&Ctx)`.

mod auth;
mod bad_input;
mod buckets;
mod keys;
mod listing;
mod objects;
mod presign;
mod restrictions;

pub use auth::*;
pub use bad_input::*;
pub use buckets::*;
pub use keys::*;
pub use listing::*;
pub use objects::*;
pub use presign::*;
pub use restrictions::*;
