// SPDX-License-Identifier: MIT
// Corpus of Rust symbol names (legacy and v0) for the demangle oracle test.
pub struct Point<T> { pub x: T, pub y: T }
impl<T: Copy + std::ops::Add<Output = T>> Point<T> { #[inline(never)] pub fn sum(&self) -> T { self.x + self.y } }
pub trait Shape { fn area(&self) -> f64; }
impl Shape for Point<f64> { #[inline(never)] fn area(&self) -> f64 { self.x * self.y } }
#[inline(never)] pub fn generic<T: std::fmt::Debug>(t: T) -> String { format!("{:?}", t) }
pub mod inner { pub mod deeper { #[inline(never)] pub fn f(a: &[u8], b: &mut Vec<String>) -> usize { b.push(String::from_utf8_lossy(a).into_owned()); a.len() } } }
#[inline(never)] pub fn closures(v: Vec<i32>) -> i32 { v.iter().map(|x| x * 2).filter(|x| *x > 3).sum() }
#[inline(never)] pub fn dynobj(s: &dyn Shape) -> f64 { s.area() }
pub fn all() -> usize { let p = Point { x: 1i32, y: 2 }; let q = Point { x: 1.5f64, y: 2.0 }; let mut v = Vec::new();
  p.sum() as usize + generic(3u8).len() + generic("s").len() + generic((1, 'c')).len() + inner::deeper::f(b"ab", &mut v) + closures(vec![1,2,3]) as usize + dynobj(&q) as usize + generic([1u64; 4]).len() + generic(Some(&q.x)).len() }
use std::collections::{HashMap, BTreeMap};
use std::rc::Rc; use std::sync::Arc;
pub struct Wrapper<const N: usize>([u8; N]);
impl<const N: usize> Wrapper<N> { pub fn len(&self) -> usize { N } }
pub enum Tree { Leaf(i64), Node(Box<Tree>, Box<Tree>) }
impl Tree { pub fn depth(&self) -> usize { match self { Tree::Leaf(_) => 1, Tree::Node(a, b) => 1 + a.depth().max(b.depth()) } } }
pub trait Visitor { fn visit<T: Into<u64>>(&mut self, t: T) -> u64 { t.into() } }
pub struct V; impl Visitor for V {}
pub fn maps() -> usize { let mut h: HashMap<String, Vec<(u8, char)>> = HashMap::new(); h.insert("a".into(), vec![(1, 'x')]);
  let mut b: BTreeMap<i128, Rc<str>> = BTreeMap::new(); b.insert(-1, Rc::from("z")); let a = Arc::new(Wrapper([0u8; 7]));
  let mut f = |x: u32| x + 1; let g: &mut dyn FnMut(u32) -> u32 = &mut f; let t = Tree::Node(Box::new(Tree::Leaf(1)), Box::new(Tree::Leaf(2)));
  h.len() + b.len() + a.len() + g(1) as usize + t.depth() + V.visit(3u8) as usize + V.visit(4u32) as usize + Wrapper([1u8; 3]).len() }
pub unsafe extern "C" fn exported_c(p: *const u8) -> u8 { *p }
pub fn impl_trait() -> impl Fn(i32) -> i32 { |x| x * 3 }
