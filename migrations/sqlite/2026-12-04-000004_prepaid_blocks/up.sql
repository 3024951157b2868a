-- Prepaid hours (SPEC 7.5). A block is bought on `purchased_on` and can be drawn from until
-- `expires_on` (exclusive; none: never expires). `invoice_id` is the draft or issued invoice that
-- bills its purchase, set while it does (freed by deleting, voiding or fully crediting that
-- invoice). `price` is an exact decimal as TEXT, like every amount.
CREATE TABLE prepaid_blocks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id BIGINT NOT NULL REFERENCES subscriptions (id),
    purchased_on DATE NOT NULL,
    expires_on DATE,
    minutes INTEGER NOT NULL CHECK (minutes > 0),
    price TEXT NOT NULL,
    invoice_id BIGINT REFERENCES invoices (id),
    created_at TIMESTAMP NOT NULL,
    CHECK (expires_on IS NULL OR expires_on > purchased_on)
);
CREATE INDEX prepaid_blocks_subscription ON prepaid_blocks (subscription_id, purchased_on);
CREATE INDEX prepaid_blocks_invoice ON prepaid_blocks (invoice_id) WHERE invoice_id IS NOT NULL;

-- The weighted minutes (an exact decimal as TEXT) a draft or issued invoice draws from a block;
-- deleted with the claims of that invoice. A block's `left` is its minutes less its draws.
CREATE TABLE block_draws (
    invoice_id BIGINT NOT NULL REFERENCES invoices (id),
    block_id BIGINT NOT NULL REFERENCES prepaid_blocks (id),
    minutes TEXT NOT NULL,
    PRIMARY KEY (invoice_id, block_id)
);
CREATE INDEX block_draws_block ON block_draws (block_id);
