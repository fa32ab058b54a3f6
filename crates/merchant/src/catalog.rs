//! The merchant's products and orders: the only source of amounts and descriptions.

use crate::db::{Db, now};
use crate::sessions::random_token;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub sku: &'static str,
    pub name: &'static str,
    /// Whole FCFA.
    pub price: u64,
}

/// An order the shopper is paying for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: String,
    pub amount: u64,
    pub description: String,
}

#[derive(Debug)]
pub struct Catalog {
    products: Vec<Product>,
}

impl Catalog {
    /// The demo store's one product.
    pub fn demo() -> Self {
        Catalog {
            products: vec![Product {
                sku: "pagne-wax",
                name: "Pagne wax 6 yards",
                price: 25_000,
            }],
        }
    }

    pub fn product(&self, sku: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.sku == sku)
    }

    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// Places an order for one `product`, with a fresh unguessable id.
    pub async fn place_order(&self, db: &Db, product: &Product) -> Result<Order, sqlx::Error> {
        let order = Order {
            id: random_token("ord_", 12),
            amount: product.price,
            description: product.name.to_owned(),
        };
        sqlx::query(
            "INSERT INTO orders (id, amount, description, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&order.id)
        .bind(i64::try_from(order.amount).unwrap_or(i64::MAX))
        .bind(&order.description)
        .bind(now())
        .execute(&db.pool)
        .await?;
        Ok(order)
    }

    pub async fn order(&self, db: &Db, id: &str) -> Result<Option<Order>, sqlx::Error> {
        let row: Option<(String, i64, String)> =
            sqlx::query_as("SELECT id, amount, description FROM orders WHERE id = $1")
                .bind(id)
                .fetch_optional(&db.pool)
                .await?;
        Ok(row.map(|(id, amount, description)| Order {
            id,
            amount: u64::try_from(amount).unwrap_or_default(),
            description,
        }))
    }
}
