//! `inlet-fanout`: reads published CloudEvents from the outbox queue and creates each one's
//! delivery tasks, one per subscribed endpoint (`inlet::outbound::lambda::run_fanout`).

// Lambda hands a function one invocation at a time: one thread serves it, and no worker threads
// are started on a cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), inlet::outbound::lambda::Error> {
    inlet::outbound::lambda::run_fanout().await
}
