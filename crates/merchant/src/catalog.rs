//! The merchant's products and orders: the only source of amounts and descriptions.

use std::collections::HashMap;
use std::sync::Mutex;

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
    orders: Mutex<HashMap<String, Order>>,
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
            orders: Mutex::new(HashMap::new()),
        }
    }

    pub fn product(&self, sku: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.sku == sku)
    }

    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// Places an order for one `product`, with a fresh unguessable id.
    pub fn place_order(&self, product: &Product) -> Order {
        let order = Order {
            id: crate::sessions::random_token("ord_", 12),
            amount: product.price,
            description: product.name.to_owned(),
        };
        self.lock().insert(order.id.clone(), order.clone());
        order
    }

    pub fn order(&self, id: &str) -> Option<Order> {
        self.lock().get(id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Order>> {
        self.orders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
