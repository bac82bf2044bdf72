//! `github-webhook`: the Lambda function for github webhooks. The same code as `inlet-webhook` with
//! `INLET_SOURCE` defaulting to `github`, kept so existing deployments keep their binary name.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), inlet::runtime::lambda::Error> {
    inlet::runtime::lambda::run(Some("github")).await
}
