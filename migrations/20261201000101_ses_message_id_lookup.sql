-- A bounce or complaint from SES (POST /webhooks/ses) is believed only for a message we
-- sent to that address: its mail.messageId is looked up in both tables that record
-- what SES accepted. Most rows have an id, but the queued and failed ones do not.
create index email_outbox_ses_message_id_idx on email_outbox (ses_message_id)
    where ses_message_id is not null;
create index digest_jobs_ses_message_id_idx on digest_jobs (ses_message_id)
    where ses_message_id is not null;
