//! `github-webhook`: the Lambda function for github webhooks. The same code as `inlet-webhook` with
//! `INLET_SOURCE` defaulting to `github`, kept so existing deployments keep their binary name.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), inlet::lambda::Error> {
    inlet::lambda::run(Some("github")).await
}
