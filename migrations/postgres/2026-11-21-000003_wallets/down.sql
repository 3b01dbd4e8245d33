DROP TABLE wallet_transactions;
DROP TABLE credit_lots;
DROP TABLE wallets;
