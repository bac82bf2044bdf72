//! `standard-webhook`: the Lambda function for standard webhooks. The same code as `inlet-webhook` with
//! `INLET_SOURCE` defaulting to `standard`, kept so existing deployments keep their binary name.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), inlet::runtime::lambda::Error> {
    inlet::runtime::lambda::run(Some("standard")).await
}
