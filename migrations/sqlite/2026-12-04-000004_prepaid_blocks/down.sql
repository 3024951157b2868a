DROP TABLE block_draws;
DROP TABLE prepaid_blocks;
