//! `bench-floor`: the least a Rust Lambda function behind API Gateway can do with a webhook: take
//! the event and put its body on SQS with `aws-sdk-sqs`, configured the way the SDK's
//! documentation shows. No verification, no envelope, no secret. Its cost is what the Lambda
//! runtime and the SDK set, so that Inlet's own cost is the difference.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue_url = std::env::var("QUEUE_URL")?;
    let (sqs, queue_url) = (&sqs, queue_url.as_str());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let body = event.payload["body"].as_str().unwrap_or_default();
        let sent = sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .send()
            .await?;
        Ok::<_, Error>(json!({
            "statusCode": 202,
            "headers": { "content-type": "application/json" },
            "body": json!({ "messageId": sent.message_id() }).to_string(),
        }))
    }))
    .await
}
