use actix_web::web::{Data, Path};
use actix_web::{get, HttpRequest, HttpResponse};
use domain::id::{parse, CustomerId};

use super::dto::{ActivityList, ActivityView, ListActivity};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, Query};
use crate::pagination::admin_page;
use crate::routes::paths;
use crate::state::AppState;

/// A customer's activity history, newest first: what their portal's activity log shows.
#[utoipa::path(
    operation_id = "list_customer_activity",
    tag = "Customers",
    security(("api_key" = [])),
    params(paths::CustomerPath, ListActivity),
    responses(
        (status = 200, body = ActivityList),
        (status = 404, description = "`customer_not_found` (a malformed id)."),
    ),
)]
#[get("/customers/{id}/activity")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    id: Path<String>,
    Query(q): Query<ListActivity>,
) -> Result<HttpResponse, ApiError> {
    let owner = who.customer(&parse::<CustomerId>(&id)?);
    let filter = q.filter()?;
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let svc = state.activity.clone();
    let found = blocking(move || svc.list(&owner, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(ActivityList::from(found.map(ActivityView::from))))
}
