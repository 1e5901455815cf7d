"""Ways to execute a skill: in this process, or in a container."""
