-- What started an extraction run is a closed set, like every other status column
-- (`domain::EtlTrigger`): `quotidian etl`, or a digest batch refreshing its data. The
-- code never wrote anything else; the constraint makes the database say so too.
alter table etl_runs add constraint etl_runs_trigger_check
    check (trigger in ('cli', 'digest'));
