//! `inlet-webhook`: the one Lambda function binary for every sender. `INLET_SOURCE` names the
//! source (and `INLET_SCHEME` its sender, when the name is not a catalogue sender's).

#[tokio::main]
async fn main() -> Result<(), inlet::lambda::Error> {
    inlet::lambda::run(None).await
}
