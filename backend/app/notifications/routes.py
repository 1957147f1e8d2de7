"""Notification routes: a project's rules, its webhooks and their delivery log, the test
buttons, the caller's own settings, and the signed links of emails (no login)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from app.api.deps import CurrentUser, PageDep, ProjectDep, SessionDep
from app.notifications import service, tasks
from app.notifications.models import (
    DeliveriesPublic,
    DeliveryPublic,
    NotificationSettingsPublic,
    NotificationSettingsUpdate,
    SendTestPublic,
    TokenOutcomePublic,
    UserNotificationSettingsPublic,
    UserNotificationSettingsUpdate,
    WebhookCreate,
    WebhookCreated,
    WebhookEndpoint,
    WebhookPublic,
    WebhooksPublic,
    WebhookUpdate,
)

router = APIRouter(tags=["notifications"])


def get_webhook(
    session: SessionDep, current_user: CurrentUser, webhook_id: uuid.UUID
) -> WebhookEndpoint:
    endpoint = service.webhook_for_user(session=session, webhook_id=webhook_id, user=current_user)
    if endpoint is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Webhook not found")
    return endpoint


WebhookDep = Annotated[WebhookEndpoint, Depends(get_webhook)]
TokenQuery = Annotated[str, Query(min_length=1, max_length=2000)]


@router.get("/projects/{project_id}/notifications", response_model=NotificationSettingsPublic)
def read_notification_settings(
    session: SessionDep, current_user: CurrentUser, project: ProjectDep
) -> NotificationSettingsPublic:
    return service.get_settings(session=session, project=project, user=current_user)


@router.put("/projects/{project_id}/notifications", response_model=NotificationSettingsPublic)
def update_notification_settings(
    session: SessionDep,
    current_user: CurrentUser,
    project: ProjectDep,
    update: NotificationSettingsUpdate,
) -> NotificationSettingsPublic:
    return service.update_settings(
        session=session, project=project, user=current_user, update=update
    )


@router.get("/projects/{project_id}/notifications/emails", response_model=DeliveriesPublic)
def list_notification_emails(
    session: SessionDep, project: ProjectDep, page: PageDep
) -> DeliveriesPublic:
    """The project's emails, newest first (`skipped` ones when no SMTP server is configured)."""
    found = service.list_project_emails(session=session, project=project, page=page)
    return DeliveriesPublic(data=found.rows, **found.public())


@router.post("/projects/{project_id}/notifications/test", response_model=SendTestPublic)
def send_test_email(
    session: SessionDep, current_user: CurrentUser, project: ProjectDep
) -> SendTestPublic:
    """Sends a test email to the caller now."""
    return service.send_test_email(session=session, project=project, user=current_user)


@router.post(
    "/projects/{project_id}/webhooks",
    response_model=WebhookCreated,
    status_code=status.HTTP_201_CREATED,
)
def create_webhook(
    session: SessionDep, project: ProjectDep, webhook_in: WebhookCreate
) -> WebhookCreated:
    """The answer carries the signing secret, once."""
    try:
        return service.create_webhook(session=session, project=project, webhook_in=webhook_in)
    except service.WebhookUrlError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from exc
    except service.WebhookLimitError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc


@router.get("/projects/{project_id}/webhooks", response_model=WebhooksPublic)
def list_webhooks(session: SessionDep, project: ProjectDep) -> WebhooksPublic:
    data = service.list_webhooks(session=session, project=project)
    return WebhooksPublic(data=data, count=len(data))


@router.get("/webhooks/{webhook_id}", response_model=WebhookPublic)
def read_webhook(endpoint: WebhookDep) -> WebhookPublic:
    return service.public_webhook(endpoint)


@router.patch("/webhooks/{webhook_id}", response_model=WebhookPublic)
def update_webhook(
    session: SessionDep, endpoint: WebhookDep, update: WebhookUpdate
) -> WebhookPublic:
    return service.update_webhook(session=session, endpoint=endpoint, update=update)


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(session: SessionDep, endpoint: WebhookDep) -> None:
    service.delete_webhook(session=session, endpoint=endpoint)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveriesPublic)
def list_webhook_deliveries(
    session: SessionDep, endpoint: WebhookDep, page: PageDep
) -> DeliveriesPublic:
    found = service.list_deliveries(session=session, endpoint=endpoint, page=page)
    return DeliveriesPublic(data=found.rows, **found.public())


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryPublic,
    status_code=status.HTTP_202_ACCEPTED,
)
def redeliver_webhook_delivery(
    session: SessionDep, endpoint: WebhookDep, delivery_id: uuid.UUID
) -> DeliveryPublic:
    """Sends a finished delivery again: same event id and body, new attempts."""
    delivery = service.redeliver(session=session, endpoint=endpoint, delivery_id=delivery_id)
    if delivery is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Delivery not found")
    tasks.send_deliveries.apply_async()
    return service.public_delivery(delivery)


@router.post("/webhooks/{webhook_id}/test", response_model=SendTestPublic)
def send_test_webhook(session: SessionDep, endpoint: WebhookDep) -> SendTestPublic:
    """Sends a signed ping now; answers with the receiver's status and body excerpt."""
    return service.send_test_webhook(session=session, endpoint=endpoint)


@router.get("/users/me/notifications", response_model=UserNotificationSettingsPublic)
def read_my_notification_settings(
    session: SessionDep, current_user: CurrentUser
) -> UserNotificationSettingsPublic:
    return service.get_user_settings(session=session, user=current_user)


@router.put("/users/me/notifications", response_model=UserNotificationSettingsPublic)
def update_my_notification_settings(
    session: SessionDep, current_user: CurrentUser, update: UserNotificationSettingsUpdate
) -> UserNotificationSettingsPublic:
    """Time zone (IANA name; the digest goes out at 07:00 there) and the daily digest."""
    return service.update_user_settings(session=session, user=current_user, update=update)


_BAD_LINK = HTTPException(status.HTTP_400_BAD_REQUEST, detail="This link is not valid")


@router.get("/notifications/confirm", response_model=TokenOutcomePublic)
def confirm_recipient(session: SessionDep, token: TokenQuery) -> TokenOutcomePublic:
    """The link mailed to a new recipient (no login)."""
    outcome = service.confirm_recipient(session=session, token=token)
    if outcome is None:
        raise _BAD_LINK
    return TokenOutcomePublic(detail=outcome)


@router.get("/notifications/unsubscribe", response_model=TokenOutcomePublic)
def unsubscribe(session: SessionDep, token: TokenQuery) -> TokenOutcomePublic:
    """The unsubscribe link of an email (no login)."""
    outcome = service.unsubscribe(session=session, token=token)
    if outcome is None:
        raise _BAD_LINK
    return TokenOutcomePublic(detail=outcome)


@router.post("/notifications/unsubscribe", response_model=TokenOutcomePublic)
def unsubscribe_one_click(session: SessionDep, token: TokenQuery) -> TokenOutcomePublic:
    """RFC 8058 one-click unsubscribe (the List-Unsubscribe-Post header's POST)."""
    return unsubscribe(session, token)
