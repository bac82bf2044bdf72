//! `stripe-webhook`: the Lambda function that receives stripe webhooks.

#[tokio::main]
async fn main() -> Result<(), inlet::lambda::Error> {
    inlet::lambda::run(&inlet::sources::Stripe).await
}
