//! What the pipeline does with a verified request: enqueue its envelope (or each of a batch's),
//! or answer the sender directly.

use crate::core::envelope::Envelope;
use crate::core::response::Reply;

/// What to do with a verified request.
#[derive(Debug)]
pub enum Disposition<'b> {
    /// Put this envelope on the queue, then answer 202.
    Enqueue(Box<Envelope<'b>>),
    /// Put every event of this batch on the queue, then answer 202.
    Batch(Vec<Envelope<'b>>),
    /// Answer the sender directly and enqueue nothing (URL-verification handshakes).
    Reply(Reply),
}
