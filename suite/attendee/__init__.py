"""What the workshop's attendee does from the outside: log in to the database, SSH to the
bastion and into a task, register a task definition revision and run it. The suite drives
these steps the same way in both modes; the workshop itself (workshop/: template, docker/, app/) is what they act on."""
