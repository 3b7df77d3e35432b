DROP TABLE next_steps;
