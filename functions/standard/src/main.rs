//! `standard-webhook`: the Lambda function that receives standard webhooks.

#[tokio::main]
async fn main() -> Result<(), inlet::lambda::Error> {
    inlet::lambda::run(&inlet::sources::Standard).await
}
