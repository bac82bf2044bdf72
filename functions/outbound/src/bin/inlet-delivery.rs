//! `inlet-delivery`: reads tasks from the delivery queues and makes each one's signed attempt
//! (`inlet::outbound::lambda::run_delivery`).

// Lambda hands a function one invocation at a time: one thread serves it, and no worker threads
// are started on a cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), inlet::outbound::lambda::Error> {
    inlet::outbound::lambda::run_delivery().await
}
