-- The forgotten values are not brought back.
SELECT 1;
