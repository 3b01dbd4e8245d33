DROP TABLE promotion_codes;
DROP TABLE coupons;
