"""The database server standing in for an RDS instance: a real MariaDB process (server.py), and for MySQL 5.7
and later a protocol front (front.py) that answers as the engine version the instance was created with
(mysql8_statements.py: MySQL 8's password statements; sha2_login.py: caching_sha2_password logins)."""
