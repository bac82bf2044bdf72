//! Fan-out: a published event becomes one task per endpoint that takes it. The task store creates
//! each (event, endpoint) task once, so an outbox message SQS delivers twice, or an event its
//! publisher sends again with the same id, is delivered once.

use super::model::{Body, Endpoint, Event, Millis, Task};
use super::ports::Tasks;
use crate::ports::failure::StoreError;

/// What fan-out did with one event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fanned {
    /// Tasks created now.
    pub created: Vec<String>,
    /// Endpoints that already had this event's task.
    pub existing: Vec<String>,
}

/// The enabled endpoints among `endpoints` that take an event of type `ty`.
pub fn subscribers<'e>(
    endpoints: &'e [Endpoint],
    ty: &'e str,
) -> impl Iterator<Item = &'e Endpoint> {
    endpoints.iter().filter(move |e| e.enabled() && e.takes(ty))
}

/// Creates `event`'s tasks for the endpoints that take it, first attempt due `now`.
pub async fn fan_out<T: Tasks>(
    tasks: &T,
    endpoints: &[Endpoint],
    event: &Event,
    body: &Body,
    now: Millis,
) -> Result<Fanned, StoreError> {
    let mut fanned = Fanned::default();
    for endpoint in subscribers(endpoints, &event.ty) {
        let task = Task {
            event_id: event.id.clone(),
            event_type: event.ty.clone(),
            endpoint_id: endpoint.id.clone(),
            attempt: 1,
            created_at: now,
            due_at: now,
            body: body.clone(),
            ordered: endpoint.ordered,
        };
        if tasks.create(&task).await? {
            fanned.created.push(endpoint.id.clone());
        } else {
            fanned.existing.push(endpoint.id.clone());
        }
    }
    Ok(fanned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::filter::Filter;
    use crate::outbound::memory::MemoryTasks;
    use crate::outbound::model::{random_id, Disabled, DisabledReason, SecretText};

    fn endpoint(filters: &[&str], disabled: bool) -> Endpoint {
        Endpoint {
            id: random_id("ep_"),
            url: "https://example.com/".into(),
            description: String::new(),
            filters: filters
                .iter()
                .map(|f| Filter::parse(f).expect("filter"))
                .collect(),
            headers: vec![],
            disabled: disabled.then_some(Disabled {
                reason: DisabledReason::Operator,
                at: 0,
            }),
            rate_limit: None,
            ordered: false,
            secret: SecretText::new("whsec_x"),
            previous: None,
            ed25519: None,
            created_at: 0,
        }
    }

    #[tokio::test]
    async fn one_task_per_matching_endpoint_however_often_the_event_comes() {
        let endpoints = [
            endpoint(&[], false),
            endpoint(&["invoice.*"], false),
            endpoint(&["customer.created"], false),
            endpoint(&[], true),
        ];
        let event = Event::parse(
            br#"{"specversion":"1.0","id":"evt_1","type":"invoice.paid","source":"/b"}"#.to_vec(),
        )
        .expect("event");
        let tasks = MemoryTasks::default();
        let body = Body::Inline(String::from_utf8_lossy(&event.body).into_owned());
        let first = fan_out(&tasks, &endpoints, &event, &body, 5)
            .await
            .expect("fan out");
        assert_eq!(
            first.created,
            vec![endpoints[0].id.clone(), endpoints[1].id.clone()]
        );
        assert!(first.existing.is_empty());
        let again = fan_out(&tasks, &endpoints, &event, &body, 9)
            .await
            .expect("fan out");
        assert!(
            again.created.is_empty(),
            "an outbox message seen twice creates nothing"
        );
        assert_eq!(again.existing.len(), 2);
        let all = tasks.tasks();
        assert_eq!(all.len(), 2);
        assert!(all
            .iter()
            .all(|(t, _)| t.attempt == 1 && t.due_at == 5 && t.event_id == "evt_1"));
    }
}
