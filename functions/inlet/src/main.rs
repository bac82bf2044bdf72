//! `inlet-webhook`: the one Lambda function binary for every sender. `INLET_SOURCE` names the
//! source (and `INLET_SCHEME` its sender, when the name is not a catalogue sender's).

// Lambda hands a function one invocation at a time: one thread serves it, and no worker threads
// are started on a cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), inlet::runtime::lambda::Error> {
    inlet::runtime::lambda::run(None).await
}
