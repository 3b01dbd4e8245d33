DROP TABLE wallet_lot_checks;
