//! `github-webhook`: the Lambda function that receives github webhooks.

#[tokio::main]
async fn main() -> Result<(), inlet::lambda::Error> {
    inlet::lambda::run(&inlet::sources::Github).await
}
