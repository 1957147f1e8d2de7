import { keepPreviousData, queryOptions } from "@tanstack/react-query";
import {
  notificationsCreateWebhook,
  notificationsDeleteWebhook,
  notificationsListNotificationEmails,
  notificationsListWebhookDeliveries,
  notificationsListWebhooks,
  notificationsReadMyNotificationSettings,
  notificationsReadNotificationSettings,
  notificationsRedeliverWebhookDelivery,
  notificationsSendTestEmail,
  notificationsSendTestWebhook,
  notificationsUpdateMyNotificationSettings,
  notificationsUpdateNotificationSettings,
  notificationsUpdateWebhook,
} from "@/client";
import type {
  NotificationSettingsUpdate,
  UserNotificationSettingsUpdate,
  WebhookCreate,
  WebhookUpdate,
} from "@/client";
import { unwrap } from "@/lib/api";

export const notificationKeys = {
  all: ["notifications"] as const,
  settings: (projectId: string) => ["notifications", "settings", projectId] as const,
  webhooks: (projectId: string) => ["notifications", "webhooks", projectId] as const,
  deliveries: (webhookId: string, offset: number) => ["notifications", "deliveries", webhookId, { offset }] as const,
  emails: (projectId: string, offset: number) => ["notifications", "emails", projectId, { offset }] as const,
  mine: ["notifications", "me"] as const,
};

const LOG_PAGE = 20;

export const notificationQueries = {
  settings: (projectId: string) =>
    queryOptions({
      queryKey: notificationKeys.settings(projectId),
      queryFn: () => unwrap(notificationsReadNotificationSettings({ path: { project_id: projectId } })),
    }),
  webhooks: (projectId: string) =>
    queryOptions({
      queryKey: notificationKeys.webhooks(projectId),
      queryFn: () => unwrap(notificationsListWebhooks({ path: { project_id: projectId } })),
    }),
  deliveries: (webhookId: string, offset = 0) =>
    queryOptions({
      queryKey: notificationKeys.deliveries(webhookId, offset),
      queryFn: () =>
        unwrap(notificationsListWebhookDeliveries({ path: { webhook_id: webhookId }, query: { offset, limit: LOG_PAGE } })),
      placeholderData: keepPreviousData,
      // Deliveries waiting for a retry settle on their own: look again now and then.
      refetchInterval: (query) =>
        query.state.data?.data.some((d) => d.status === "pending" || d.status === "sending") ? 5000 : false,
    }),
  emails: (projectId: string, offset = 0) =>
    queryOptions({
      queryKey: notificationKeys.emails(projectId, offset),
      queryFn: () =>
        unwrap(notificationsListNotificationEmails({ path: { project_id: projectId }, query: { offset, limit: LOG_PAGE } })),
      placeholderData: keepPreviousData,
    }),
  mine: () =>
    queryOptions({
      queryKey: notificationKeys.mine,
      queryFn: () => unwrap(notificationsReadMyNotificationSettings()),
    }),
};

export const notificationMutations = {
  updateSettings: (projectId: string, body: NotificationSettingsUpdate) =>
    unwrap(notificationsUpdateNotificationSettings({ path: { project_id: projectId }, body })),
  testEmail: (projectId: string) => unwrap(notificationsSendTestEmail({ path: { project_id: projectId } })),
  createWebhook: (projectId: string, body: WebhookCreate) =>
    unwrap(notificationsCreateWebhook({ path: { project_id: projectId }, body })),
  updateWebhook: (webhookId: string, body: WebhookUpdate) =>
    unwrap(notificationsUpdateWebhook({ path: { webhook_id: webhookId }, body })),
  deleteWebhook: (webhookId: string) => unwrap(notificationsDeleteWebhook({ path: { webhook_id: webhookId } })),
  testWebhook: (webhookId: string) => unwrap(notificationsSendTestWebhook({ path: { webhook_id: webhookId } })),
  redeliver: (webhookId: string, deliveryId: string) =>
    unwrap(notificationsRedeliverWebhookDelivery({ path: { webhook_id: webhookId, delivery_id: deliveryId } })),
  updateMine: (body: UserNotificationSettingsUpdate) => unwrap(notificationsUpdateMyNotificationSettings({ body })),
};
