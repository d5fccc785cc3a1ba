"""Reference data that routings read and write: value tables, global variables, custom
databases and opening-hours schedules, with the coercions their typed fields share."""
