-- The operator console shows each digest that was not sent with the key of its audit
-- record. Delivery records name their job in the body (`job_id`); this index finds them
-- without reading the whole outbox, which keeps every record it has written.
create index audit_outbox_delivery_job_idx on audit_outbox ((body ->> 'job_id'))
    where kind = 'delivery';
