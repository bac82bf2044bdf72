//! The adapters of the local server (`inlet serve`): a spool directory for the queue, a
//! directory of idempotency marks, and a file for a secret a handshake delivers.

pub(crate) mod group_commit;
pub mod marks;
pub mod secret_file;
pub mod spool;

pub use marks::LocalStore;
pub use secret_file::SecretFile;
pub use spool::SpoolQueue;
