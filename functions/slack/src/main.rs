//! `slack-webhook`: the Lambda function that receives slack webhooks.

#[tokio::main]
async fn main() -> Result<(), inlet::lambda::Error> {
    inlet::lambda::run(&inlet::sources::Slack).await
}
