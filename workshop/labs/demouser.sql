-- Lab C (seed 004): a second database user for the application, run as the master user.
-- {username}, {password} and {dbname} are demouser's secret's values (the suite, or an attendee,
-- puts them in as quoted literals and a quoted identifier). demouser may log in over TLS only
-- (REQUIRE SSL) and may do on its own database only what the lab's test does.
CREATE DATABASE IF NOT EXISTS {dbname};
CREATE USER IF NOT EXISTS {username}@'%' IDENTIFIED BY {password} REQUIRE SSL;
GRANT CREATE, INSERT, SELECT, DROP ON {dbname}.* TO {username}@'%';
