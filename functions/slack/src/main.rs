//! `slack-webhook`: the Lambda function for slack webhooks. The same code as `inlet-webhook` with
//! `INLET_SOURCE` defaulting to `slack`, kept so existing deployments keep their binary name.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), inlet::runtime::lambda::Error> {
    inlet::runtime::lambda::run(Some("slack")).await
}
