//! The time limit on request bodies (docs/operations.md, "Slow request bodies"): a body that
//! has not arrived within `AppState::body_timeout` of its request's start is answered 408 and
//! its connection closed. actix's own `client_request_timeout` covers only the head, so without
//! this a client could hold a connection and a worker's attention by sending a body slowly.
//!
//! One middleware, outermost, around every route: it wraps the request's body in a stream that
//! fails once the time is up, so every reader (`read_body` for `JsonBody` and `RawBody`, which
//! the idempotency middleware and the finance page's forms use too) stops at the same moment and
//! answers 408; the middleware then makes sure the connection closes, as it does after any answer
//! given before the body was read.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::HeaderName;
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::rt::time::{sleep, Sleep};
use actix_web::web::{Bytes, Data};
use actix_web::HttpMessage;
use futures_core::Stream;

use crate::error::AppError;
use crate::http::request_id;
use crate::http::state::{AppState, DEFAULT_BODY_TIMEOUT};

/// A request's body, shared by its reader and the middleware, which may keep it to the end of
/// the answer (see [`Held`]).
struct Body {
    payload: RefCell<Payload>,
    expired: Cell<bool>,
    /// Read to its end.
    finished: Cell<bool>,
}

/// The request body as handlers read it: it fails with `TimedOut` once the deadline has passed
/// without the body ending.
struct Deadline {
    body: Rc<Body>,
    timer: Pin<Box<Sleep>>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if !this.body.expired.get() {
            // What has arrived is read first: a body already in the buffer is never refused.
            match Pin::new(&mut *this.body.payload.borrow_mut()).poll_next(cx) {
                Poll::Pending => {}
                Poll::Ready(None) => {
                    this.body.finished.set(true);
                    return Poll::Ready(None);
                }
                ready => return ready,
            }
            if this.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.body.expired.set(true);
        }
        Poll::Ready(Some(Err(timed_out())))
    }
}

/// An answer's body, holding the request's unread body until the answer is sent: actix closes a
/// connection whose request body is unfinished and still held, where it would go on reading
/// (draining) a chunked body that was let go, for as long as the client cares to send it.
struct Held {
    answer: BoxBody,
    _request_body: Rc<Body>,
}

impl MessageBody for Held {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.answer.size()
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().answer).poll_next(cx)
    }
}

/// The read error a timed-out body gives its reader ([`is_timeout`] recognises it).
fn timed_out() -> PayloadError {
    PayloadError::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, "the request body did not arrive in time"))
}

/// Whether a body read failed because its time was up.
pub fn is_timeout(e: &PayloadError) -> bool {
    matches!(e, PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
}

/// The middleware: the deadline starts when the request's head has arrived.
pub async fn limit_body_time(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let payload = req.take_payload();
    if matches!(payload, Payload::None) {
        // No body (no Content-Length, no chunks): nothing to time.
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let timeout = req.app_data::<Data<AppState>>().map_or(DEFAULT_BODY_TIMEOUT, |s| s.body_timeout);
    let body = Rc::new(Body { payload: RefCell::new(payload), expired: Cell::new(false), finished: Cell::new(false) });
    let deadline = Deadline { body: body.clone(), timer: Box::pin(sleep(timeout)) };
    req.set_payload(Payload::from(Box::pin(deadline) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>));
    let result = next.call(req).await;
    if body.finished.get() {
        return result.map(ServiceResponse::map_into_boxed_body);
    }
    if !body.expired.get() {
        // Answered before the body was read (a 401, say): the rest is not waited for either.
        return result.map(|res| {
            res.map_into_boxed_body().map_body(|_, answer| BoxBody::new(Held { answer, _request_body: body }))
        });
    }
    let res = match result {
        // The API's readers answer 408 themselves (with the request id in the problem); other
        // answers (a form's default error) are replaced by it.
        Ok(res) if res.status() == StatusCode::REQUEST_TIMEOUT => res.map_into_boxed_body(),
        Ok(res) => {
            let name = HeaderName::from_static(request_id::HEADER);
            let id = res.headers().get(&name).cloned();
            let mut answer = ServiceResponse::from_err(AppError::RequestTimeout, res.request().clone());
            if let Some(id) = id {
                answer.headers_mut().insert(name, id);
            }
            answer.map_into_boxed_body()
        }
        Err(_) => return Err(AppError::RequestTimeout.into()),
    };
    let mut res = res.map_body(|_, answer| BoxBody::new(Held { answer, _request_body: body }));
    // The rest of the body may still be on its way: the connection is not reused.
    res.response_mut().head_mut().set_connection_type(ConnectionType::Close);
    Ok(res)
}
