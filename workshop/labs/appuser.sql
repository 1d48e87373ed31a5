-- Lab B (seed 003): the lab's web app logs in as a database user of its own, made by the master user.
-- {username} and {password} are the app's secret's values (the suite, or an attendee, puts them in as a
-- quoted identifier and a quoted literal). The app only checks that it can log in (SELECT 1): it needs no
-- privilege on any database.
CREATE USER IF NOT EXISTS {username}@'%' IDENTIFIED BY {password};
